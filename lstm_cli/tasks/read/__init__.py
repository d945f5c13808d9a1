"""Handwriting recognition (Graves et al. 2009; issue 39), in progress: so far its CTC decoding
(:mod:`.ctc`). The task (model, training, the ``lstm read`` command) is not built yet and not
registered."""
