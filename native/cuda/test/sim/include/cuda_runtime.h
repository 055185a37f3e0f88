// Simulator stand-in for <cuda_runtime.h> (see ../cuda_sim.h).
#pragma once
#include "../cuda_sim.h"
