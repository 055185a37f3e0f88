// Simulator stand-in for <cuda_bf16.h> (see ../cuda_sim.h).
#pragma once
#include "../cuda_sim.h"
