"""tapstack: the operator's command line for a deployed TapStack, and the names infra/ and it share."""
