"""pytest plugin: fixtures shared by both packages' suites."""
