"""What the gateway, the edge and the command line share: settings loading, files, addresses, runtime."""
