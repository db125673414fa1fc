"""Neural-network building blocks written from scratch: attention (and, later, transformer and LSTM blocks)."""
