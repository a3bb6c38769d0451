"""Components of the bootstrap project: what an administrator creates once per AWS account so the
main program can be deployed from GitHub Actions without long-lived credentials."""
