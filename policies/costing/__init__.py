"""Monthly cost estimate of a planned stack, shared by `make plan` and the pack's budget policy."""
