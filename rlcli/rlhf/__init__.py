"""Learning from preferences: segments, labellers, reward models, the KL leash."""
