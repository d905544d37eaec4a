"""What the orchestrators need from params/: job lists, paths, resources. No training logic here."""
