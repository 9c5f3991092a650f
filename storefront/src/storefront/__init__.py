"""The TapStack storefront service."""
