#pragma once
/// @file loopback_launch.h
/// The launch of rank `rank` of `world` ranks that rendezvous on 127.0.0.1:`port`,
/// for tests that run ranks as threads of one process.

#include "flowgrpo/dist/launch_environment.h"

namespace flowgrpo::testing {

inline dist::LaunchEnvironment loopback_launch(int rank, int world, int port) {
  dist::LaunchEnvironment l;
  l.rank = rank;
  l.world_size = world;
  l.source = "test";
  l.master_addr = "127.0.0.1";
  l.master_port = port;
  return l;
}

}  // namespace flowgrpo::testing
