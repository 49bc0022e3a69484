"""The project's Docker-free local AWS runtime: real services, AWS's Lambda emulator, AWS event shapes."""
