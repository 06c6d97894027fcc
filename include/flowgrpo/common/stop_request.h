#pragma once
/// @file stop_request.h
/// A graceful stop asked for from outside: SIGTERM (what Slurm and Kubernetes send
/// before a time limit or eviction) or SIGINT (Ctrl-C). The handler only records the
/// request; the trainer polls it at optimizer-step boundaries, agrees with the other
/// ranks, writes a checkpoint and returns. Signals within 2 s of the first are the
/// same request (Ctrl-C under torchrun reaches a rank twice); a signal after that ends
/// the process at once.

namespace flowgrpo {

/// Installs the handlers for SIGTERM and SIGINT (idempotent).
void install_stop_signal_handlers();
/// Whether a stop was requested (by a signal or request_stop()).
bool stop_requested();
/// The signal that asked for it (0 if none, or request_stop()).
int stop_signal();
/// Asks for a stop as a signal would (tests, embedding applications).
void request_stop();
/// Forgets a request (tests).
void clear_stop_request();

}  // namespace flowgrpo
