// Simulator stand-in for <cuda_fp16.h> (see ../cuda_sim.h).
#pragma once
#include "../cuda_sim.h"
