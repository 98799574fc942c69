//! The built-in simulated plant: a duplex lift station served over Modbus (tokio-modbus server)
