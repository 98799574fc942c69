//! The engine: polls every device, feeds history and alarms, and offers one handle to the CLI and the desktop
