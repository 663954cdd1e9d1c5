"""Test support: a real server in a thread, SDK clients that check every response, databases."""
