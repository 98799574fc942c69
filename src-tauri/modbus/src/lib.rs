//! Modbus for a polling client: register decoding, request planning (coalescing), and links (TCP, RTU, RTU over TCP)
