"""Example domain: tasks and their comments, raising notifications through signals."""
