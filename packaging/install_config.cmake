# Installs the default config, unless one is there already: an operator's
# config is never replaced by `make install`. NVMEOF_CONF_DIR and
# NVMEOF_CONF_SOURCE are set by the install(CODE) before this.
set(conf "$ENV{DESTDIR}${NVMEOF_CONF_DIR}/target.json")
if(EXISTS "${conf}")
  message(STATUS "Kept: ${conf} (an existing config is never replaced)")
else()
  # file(INSTALL) puts DESTDIR in front of DESTINATION itself.
  file(INSTALL "${NVMEOF_CONF_SOURCE}" DESTINATION "${NVMEOF_CONF_DIR}")
endif()
