/*
 * alert_json.c - the JSON codec of models.Alert, Source, Decision, Event and
 * Meta, shared by the agent's output, the Local API, the store and the CLI.
 */
#include "model/model.h"
