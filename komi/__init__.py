"""komi: an AlphaGo-style Go agent and DQN agents for Atari-style games."""
__version__ = "0.1.0"
