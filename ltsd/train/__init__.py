"""`ltsd train`: make a new world from a folder of pictures, with the Learning to See recipe."""
