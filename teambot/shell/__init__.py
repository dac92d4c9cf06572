"""The local shell: a third adapter, for trying Teambot with no chat workspace."""
