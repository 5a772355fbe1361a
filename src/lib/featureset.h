/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef FERRY_FEATURESET_H
#define FERRY_FEATURESET_H

/* runc's `features` JSON: what this build of ferry supports. Caller frees. */
char *ferry_features_json(void);

#endif
