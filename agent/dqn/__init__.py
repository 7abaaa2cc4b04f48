"""DQN agents for Atari-style games: config, networks, replay, losses, training loop, evaluation.

Heavy modules (torch) are imported by their users; ``from agent.dqn.train import train`` runs a job.
"""
