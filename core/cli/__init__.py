"""The `tfstudio` command line, on the same engine and job system as the web app."""
