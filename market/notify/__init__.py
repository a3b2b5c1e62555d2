"""How the market's own events (RFQs, quotes, engagements, disputes) are worded to people."""
