"""Package data of the credit service (the penalty table of ECL Chapter IV)."""
