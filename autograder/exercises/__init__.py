"""The exercises of the course, one module per notebook: for each, the reference it is
compared with, its visible and hidden cases, its tolerance and its known mistakes."""
