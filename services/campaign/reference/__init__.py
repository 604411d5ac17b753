"""Reference names: partners, locations and tariffs (id -> name) for the console's pick lists."""
