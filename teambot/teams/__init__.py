"""Microsoft Teams adapter (botbuilder); every botbuilder import lives in this package."""
