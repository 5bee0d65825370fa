#include "util/error.h"

G_DEFINE_QUARK(nlp-error-quark, nlp_error)
