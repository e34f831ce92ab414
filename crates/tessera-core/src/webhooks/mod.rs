pub mod destination;
