"""The gateway service: ``create_app(settings)``, its handlers, authentication, grants and limits."""
