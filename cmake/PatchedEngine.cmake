# sdcpp_prepare_patched_engine(): copy the pristine vendored engine into the build directory,
# restore the compressed tokenizer vocabulary, and apply patches/series in order.
#
# The copy is redone only when the vendored tree or the series changes (a stamp file records
# the hash). Unchanged files keep their timestamps, so a patch edit recompiles only what it touches.
# A patch that does not apply stops the configure step with a FATAL_ERROR naming it.

function(_sdcpp_series_hash patch_dir patches out_var)
    set(material "")
    foreach(patch IN LISTS patches)
        file(SHA256 "${patch_dir}/${patch}" digest)
        string(APPEND material "${patch} ${digest}\n")
    endforeach()
    string(SHA256 series_hash "${material}")
    set(${out_var} "${series_hash}" PARENT_SCOPE)
endfunction()

function(sdcpp_read_series patch_dir out_var)
    file(STRINGS "${patch_dir}/series" lines)
    set(patches "")
    foreach(line IN LISTS lines)
        string(STRIP "${line}" line)
        if(line STREQUAL "" OR line MATCHES "^#")
            continue()
        endif()
        if(NOT EXISTS "${patch_dir}/${line}")
            message(FATAL_ERROR "patches/series names ${line}, which does not exist in ${patch_dir}")
        endif()
        list(APPEND patches "${line}")
    endforeach()
    set(${out_var} "${patches}" PARENT_SCOPE)
endfunction()

function(sdcpp_prepare_patched_engine)
    cmake_parse_arguments(ARG "" "VENDOR_DIR;VOCAB_ARCHIVE;PATCH_DIR;OUTPUT_DIR;OUT_SERIES_HASH" "" ${ARGN})
    set(manifest "${ARG_VENDOR_DIR}/../MANIFEST.sha256")
    sdcpp_read_series("${ARG_PATCH_DIR}" patches)
    _sdcpp_series_hash("${ARG_PATCH_DIR}" "${patches}" series_hash)
    set(${ARG_OUT_SERIES_HASH} "${series_hash}" PARENT_SCOPE)

    # Re-run configure when any of these change.
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
        "${ARG_PATCH_DIR}/series" "${manifest}" "${ARG_VOCAB_ARCHIVE}")
    foreach(patch IN LISTS patches)
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${ARG_PATCH_DIR}/${patch}")
    endforeach()

    file(SHA256 "${manifest}" manifest_hash)
    set(stamp_file "${ARG_OUTPUT_DIR}/.sdcpp-patched")
    set(stamp "manifest ${manifest_hash}\nseries ${series_hash}\n")
    if(EXISTS "${stamp_file}")
        file(READ "${stamp_file}" old_stamp)
        if(old_stamp STREQUAL stamp)
            return()
        endif()
        file(REMOVE "${stamp_file}")
    endif()

    # Files patched by an earlier series are copied back with their old upstream timestamps,
    # which would look older than their objects: touch them afterwards so they are recompiled.
    set(list_file "${ARG_OUTPUT_DIR}/.sdcpp-patched-files")
    set(previously_patched "")
    if(EXISTS "${list_file}")
        file(STRINGS "${list_file}" previously_patched)
    endif()

    # Files that an earlier series created (no upstream counterpart) must go, or re-applying the
    # patch that creates them fails with "already exists".
    foreach(path IN LISTS previously_patched)
        if(NOT path STREQUAL "" AND NOT EXISTS "${ARG_VENDOR_DIR}/${path}")
            file(REMOVE "${ARG_OUTPUT_DIR}/${path}")
        endif()
    endforeach()

    message(STATUS "sdcpp: preparing the patched engine in ${ARG_OUTPUT_DIR}")
    # file(COPY) skips files whose timestamp already matches, so only files a patch had touched
    # are copied afresh (and then recompiled).
    file(COPY "${ARG_VENDOR_DIR}/" DESTINATION "${ARG_OUTPUT_DIR}")
    set(vocab_dir "${ARG_OUTPUT_DIR}/src/tokenizers/vocab")
    if(NOT EXISTS "${vocab_dir}/umt5.hpp")
        message(STATUS "sdcpp: restoring the tokenizer vocabulary headers")
        file(ARCHIVE_EXTRACT INPUT "${ARG_VOCAB_ARCHIVE}" DESTINATION "${vocab_dir}")
    endif()

    set(patched_files "")
    find_program(SDCPP_PATCH_EXE patch)
    find_program(SDCPP_GIT_EXE git)
    foreach(patch IN LISTS patches)
        set(patch_file "${ARG_PATCH_DIR}/${patch}")
        if(SDCPP_PATCH_EXE)
            execute_process(
                COMMAND "${SDCPP_PATCH_EXE}" -p1 --forward --batch --no-backup-if-mismatch --reject-file=- -i "${patch_file}"
                WORKING_DIRECTORY "${ARG_OUTPUT_DIR}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
        elseif(SDCPP_GIT_EXE)
            # GIT_CEILING_DIRECTORIES: never let git treat the copy as part of an outer repository
            # (git apply then silently skips the paths).
            get_filename_component(parent "${ARG_OUTPUT_DIR}" DIRECTORY)
            execute_process(
                COMMAND "${CMAKE_COMMAND}" -E env "GIT_CEILING_DIRECTORIES=${parent}"
                        "${SDCPP_GIT_EXE}" apply --whitespace=nowarn -p1 "${patch_file}"
                WORKING_DIRECTORY "${ARG_OUTPUT_DIR}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
        else()
            message(FATAL_ERROR "sdcpp: neither `patch` nor `git` was found; one is needed to apply patches/.")
        endif()
        if(NOT rc EQUAL 0)
            # Leave no half-patched tree behind: the next configure starts from pristine files.
            file(REMOVE_RECURSE "${ARG_OUTPUT_DIR}")
            message(FATAL_ERROR "sdcpp: patch ${patch} does not apply to the vendored engine:\n${out}\n${err}")
        endif()
        message(STATUS "sdcpp: applied ${patch}")
        file(STRINGS "${patch_file}" targets REGEX "^\\+\\+\\+ b/")
        foreach(target IN LISTS targets)
            string(REGEX REPLACE "^\\+\\+\\+ b/([^\t]*).*$" "\\1" target "${target}")
            list(APPEND patched_files "${target}")
        endforeach()
    endforeach()
    foreach(path IN LISTS previously_patched)
        if(EXISTS "${ARG_OUTPUT_DIR}/${path}")
            file(TOUCH_NOCREATE "${ARG_OUTPUT_DIR}/${path}")
        endif()
    endforeach()
    list(REMOVE_DUPLICATES patched_files)
    list(JOIN patched_files "\n" patched_text)
    file(WRITE "${list_file}" "${patched_text}\n")
    file(WRITE "${stamp_file}" "${stamp}")
endfunction()
