"""Games komi plays: Go (native rules core) and Atari-style environments. Nothing here learns."""
