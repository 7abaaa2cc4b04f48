"""What decides moves: networks, checkpoints, search front-end, players, DQN."""
