/* Input for bindgen (feature `regenerate`): the public libzfs_core and libnvpair API. */
#include <libzfs_core.h>
#include <libnvpair.h>
