"""One module per task; each holds only what is special to that task (model, data reader, sampler)."""
