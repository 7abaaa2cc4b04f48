"""What improves agents over time: pretraining, self-play, tournaments."""
