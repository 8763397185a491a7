"""Private helpers every layer of the package may use; they import nothing of the package."""
