//! History in SQLite: schema and migrations, the batching writer, deadband/heartbeat filter, range and aggregate queries
