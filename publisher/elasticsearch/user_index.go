package elasticsearch

// userIndex is the body databuilder's search job creates its user index
// with: elasticsearch_dsl's Index with databuilder's document_mappings.User
// and max_shingle_diff=10, as Index.to_dict() gives it (amundsen-databuilder
// 7.5.1). compat/amundsen/test_people_search.py checks that the index
// oktasync creates has the mapping and settings databuilder's has.
const userIndex = `{
 "mappings": {
  "_meta": {
   "version": 2
  },
  "properties": {
   "badges": {
    "analyzer": "general_analyzer",
    "fields": {
     "keyword": {
      "type": "keyword"
     }
    },
    "term_vector": "with_positions_offsets",
    "type": "text"
   },
   "description": {
    "analyzer": "english_analyzer",
    "fields": {
     "alphanumeric": {
      "analyzer": "alphanum_analyzer",
      "term_vector": "with_positions_offsets",
      "type": "text"
     },
     "general": {
      "analyzer": "general_analyzer",
      "term_vector": "with_positions_offsets",
      "type": "text"
     }
    },
    "term_vector": "with_positions_offsets",
    "type": "text"
   },
   "first_name": {
    "analyzer": "stemming_analyzer",
    "fields": {
     "general": {
      "analyzer": "general_analyzer",
      "term_vector": "with_positions_offsets",
      "type": "text"
     },
     "keyword": {
      "type": "keyword"
     }
    },
    "term_vector": "with_positions_offsets",
    "type": "text"
   },
   "key": {
    "analyzer": "general_analyzer",
    "fields": {
     "keyword": {
      "type": "keyword"
     }
    },
    "term_vector": "with_positions_offsets",
    "type": "text"
   },
   "last_name": {
    "analyzer": "stemming_analyzer",
    "fields": {
     "general": {
      "analyzer": "general_analyzer",
      "term_vector": "with_positions_offsets",
      "type": "text"
     },
     "keyword": {
      "type": "keyword"
     }
    },
    "term_vector": "with_positions_offsets",
    "type": "text"
   },
   "last_updated_timestamp": {
    "type": "date"
   },
   "name": {
    "analyzer": "stemming_analyzer",
    "fields": {
     "general": {
      "analyzer": "general_analyzer",
      "term_vector": "with_positions_offsets",
      "type": "text"
     },
     "keyword": {
      "type": "keyword"
     },
     "ngram": {
      "analyzer": "ngram_analyzer_resource_name",
      "term_vector": "with_positions_offsets",
      "type": "text"
     }
    },
    "term_vector": "with_positions_offsets",
    "type": "text"
   },
   "resource_type": {
    "type": "keyword"
   },
   "tags": {
    "analyzer": "general_analyzer",
    "fields": {
     "keyword": {
      "type": "keyword"
     }
    },
    "term_vector": "with_positions_offsets",
    "type": "text"
   },
   "usage": {
    "type": "rank_features"
   }
  }
 },
 "settings": {
  "analysis": {
   "analyzer": {
    "alphanum_analyzer": {
     "filter": [
      "english_possessive_stemmer",
      "lowercase",
      "english_stop",
      "english_stemmer"
     ],
     "tokenizer": "alphanum_tokenizer",
     "type": "custom"
    },
    "english_analyzer": {
     "filter": [
      "english_possessive_stemmer",
      "lowercase",
      "english_stop",
      "english_stemmer"
     ],
     "tokenizer": "standard_tokenizer",
     "type": "custom"
    },
    "general_analyzer": {
     "filter": [
      "lowercase"
     ],
     "tokenizer": "alphanum_tokenizer",
     "type": "custom"
    },
    "ngram_analyzer_resource_name": {
     "filter": [
      "shingle_filter_resource_name"
     ],
     "tokenizer": "alphanum_tokenizer",
     "type": "custom"
    },
    "stemming_analyzer": {
     "filter": [
      "lowercase",
      "kstem"
     ],
     "tokenizer": "alphanum_tokenizer",
     "type": "custom"
    }
   },
   "filter": {
    "english_possessive_stemmer": {
     "language": "possessive_english",
     "type": "stemmer"
    },
    "english_stemmer": {
     "language": "english",
     "type": "stemmer"
    },
    "english_stop": {
     "stopwords": "_english_",
     "type": "stop"
    },
    "shingle_filter_resource_name": {
     "max_shingle_size": 8,
     "min_shingle_size": 2,
     "output_unigrams": true,
     "token_separator": " ",
     "type": "shingle"
    }
   },
   "tokenizer": {
    "alphanum_tokenizer": {
     "pattern": "[^a-zA-Z0-9]",
     "type": "pattern"
    },
    "standard_tokenizer": {
     "type": "standard"
    }
   }
  },
  "max_shingle_diff": 10
 }
}`
