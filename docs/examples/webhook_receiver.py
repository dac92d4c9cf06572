import base64, hashlib, hmac, os, time
from http.server import BaseHTTPRequestHandler, HTTPServer
KEY = base64.b64decode(os.environ["WEBHOOK_SECRET"].removeprefix("whsec_"))
class Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # Standard Webhooks: v1,base64(HMAC-SHA256(key, "id.timestamp.body"))
        body, h = self.rfile.read(int(self.headers["Content-Length"])), self.headers
        good = "v1," + base64.b64encode(hmac.new(KEY, f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + body, hashlib.sha256).digest()).decode()
        ok = any(hmac.compare_digest(good, s) for s in h["webhook-signature"].split()) and abs(time.time() - int(h["webhook-timestamp"])) < 300
        print("verified" if ok else "REFUSED", h["webhook-id"], body.decode()[:120], flush=True); self.send_response(204 if ok else 401); self.end_headers()
HTTPServer(("127.0.0.1", int(os.environ.get("RECEIVER_PORT", "8000"))), Hook).serve_forever()
