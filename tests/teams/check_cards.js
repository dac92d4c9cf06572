// Parses every card (a JSON array on stdin) with Microsoft's `adaptivecards` library at schema 1.5
// and prints one JSON line per card: the parse warnings and errors it raised (none = clean).
const path = require("path");
const AC = require(path.join(process.argv[2], "node_modules/adaptivecards/dist/adaptivecards.js"));
let raw = "";
process.stdin.on("data", (d) => (raw += d));
process.stdin.on("end", () => {
  const out = JSON.parse(raw).map((json) => {
    const ctx = new AC.SerializationContext(AC.Versions.v1_5);
    const card = new AC.AdaptiveCard();
    card.parse(json, ctx);
    const events = [];
    for (let i = 0; i < ctx.eventCount; i++) {
      const e = ctx.getEventAt(i);
      events.push({ phase: e.phase, event: e.event, message: e.message });
    }
    return events;
  });
  process.stdout.write(JSON.stringify(out));
});
