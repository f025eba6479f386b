"""Network fakes for the test suite: real HTTP servers on 127.0.0.1 that model a platform's API."""
