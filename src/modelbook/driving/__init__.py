"""Building blocks of the driving lab (topic 18): highway-env plumbing, perception, prediction, planning."""
