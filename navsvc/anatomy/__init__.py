"""Native-space anatomy: head and brain masks, grey matter, the scalp surface."""
