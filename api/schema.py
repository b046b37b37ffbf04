def only_api_v1(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: keep the submission API's endpoints only."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]
