"""What every task shares, written once: checkpoints, registry, training loop, sampling, errors."""
